"""The bare FastAPI endpoint `scripts/bench` compares the service against.

Served by uvicorn with the same settings as the service (uvloop, httptools, same workers, no
access log), it measures what the framework and server cost on this machine, so the service's
figures can be given as ratios that compare across machines.
"""

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/ping")
async def ping() -> dict[str, object]:
    return {"status": "ok", "service": "baseline", "version": 1}
