"""flowstone_nb: asset-first data orchestration inside Jupyter."""
