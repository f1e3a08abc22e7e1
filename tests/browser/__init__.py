"""End-to-end tests: the example notebooks run in a real JupyterLab and a real headless Chromium."""
