"""The drawn DAG: DOT text (pure), its build from the registry, renderers and live updates."""
