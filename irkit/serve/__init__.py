"""The model server: the SageMaker container contract on this machine.

``process`` (ServerProcess: start, pin, ping, usage, stop), ``hosting`` (the entry point: bind, pin,
uvicorn), ``server`` (Starlette app), ``settings`` (the TF Serving container's env knobs), ``decode``,
``batcher``, ``modelhost``, ``model_cache`` (the multi-model cache), ``mme_server``, ``containers``
(multi-container router), ``preflight``, ``capacity`` (a test server of known capacity).
Imports no backend and never locust.
"""
