"""The local backend: serve the model on this machine and drive load at it with Locust."""
