"""A bare FastAPI JSON endpoint: the yardstick `jianfu bench serve` measures the service against."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"status": "ok"}
