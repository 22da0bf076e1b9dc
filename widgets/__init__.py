"""ipywidgets panels over a JobSpec, installed as ``irkit.widgets``."""
