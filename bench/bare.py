"""The ceiling: a bare FastAPI endpoint, served by the same stack as authgate."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "Hello World"}
