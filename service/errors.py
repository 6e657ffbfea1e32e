"""What a domain function raises when it will not do what was asked: a rule broken, an object not
found (or not the caller's to see), a role that may not do this, a request that makes no sense, an
object in the wrong state, no model loaded yet. Each carries its reason in Chinese and English.

The domain knows nothing of HTTP: the API turns these into problem details (service.api.problems,
one table from kind to status), the pages into an error page in the reader's language.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal; `zh` and `en` say why, `extra` is what a caller may show beside it."""

    kind = "invalid-request"

    def __init__(self, en: str, zh: str | None = None, **extra: Any) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh or en
        self.extra = extra

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as it is (a planning worker process raises it; the serving process answers it),
        whatever its subclass's constructor takes."""
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(kind: type[DomainError], args: tuple[Any, ...], state: dict[str, Any]) -> DomainError:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class NotFound(DomainError):
    """No such object among those the caller may see (its existence is not confirmed)."""

    kind = "not-found"

    def __init__(self, what: str, ref: str, *, en: str | None = None, zh: str | None = None) -> None:
        super().__init__(
            en or f"no {what} {ref} among those this account may see",
            zh or f"没有找到{_ZH.get(what, what)} {ref}",
        )


_ZH = {
    "student": "学生",
    "class": "班级",
    "plan": "作业计划",
    "item": "题目",
    "export": "导出",
    "district": "教育局",
    "school": "学校",
}


class NotAllowed(DomainError):
    """The caller's role may not do this at all."""

    kind = "forbidden"


class Invalid(DomainError):
    """The request is not one that can be carried out (`errors`: JSON pointers, where known)."""

    kind = "invalid-request"


class RuleBroken(DomainError):
    """The request breaks a rule of POLICY.md (`rule`; `violations` when a set breaks several)."""

    kind = "rule"

    def __init__(self, rule: str | None, en: str, zh: str | None = None, **extra: Any) -> None:
        super().__init__(en, zh, **extra)
        self.rule = rule


class Conflict(DomainError):
    """The object is not in a state that allows this (a published plan edited, an expired draft)."""

    kind = "conflict"


class ImportRefused(DomainError):
    """An import with problems: nothing was written (`problems` by file, row and field)."""

    kind = "import-refused"


class Busy(DomainError):
    """Too much at once: the account's (or the service's) share of the planning is taken; try again
    after `retry_after` seconds (refused at once, nothing done)."""

    kind = "busy"


class ModelUnavailable(DomainError):
    """No model is loaded yet: try again shortly."""

    kind = "model-unavailable"
