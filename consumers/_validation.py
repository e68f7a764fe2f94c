"""Turns a decoded record into a typed event, or a Poison outcome that says what is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from consumers.runtime.types import Poison

M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], value: dict[str, Any]) -> M | Poison:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:10]
        )
        return Poison("InvalidEvent", f"{model.__name__} is invalid: {problems}")
