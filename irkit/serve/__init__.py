"""The model server: the SageMaker container contract on this machine.

``process`` (ServerProcess: start, pin, ping, usage, stop), ``main`` (the ``irkit serve`` command,
``python -m irkit.serve``), ``hosting`` (pin, bind, uvicorn), ``server`` (Starlette app), ``responses``
(JSON answers and body limit every server shares), ``settings`` (the TF Serving container's env knobs), ``decode``,
``batcher``, ``modelhost``, ``model_cache`` (the multi-model cache), ``mme_server``, ``containers``
(multi-container router), ``preflight``, ``capacity`` (a test server of known capacity).
Imports no backend and never locust.
"""
