"""The HTTP server around the routes: ASGI middleware, trusted proxies, the uvicorn protocol,
the web interface's files and the metrics endpoint. The routes themselves live in their domains."""
