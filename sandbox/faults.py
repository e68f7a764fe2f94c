"""QBO's error bodies, exactly as Intuit sends them.

Two families: the API's `{"Fault":{"Error":[{"Message","Detail","code","element"}],"type"}}`
and the gateway's lowercase `{"fault":{"error":[{"message","detail","code","element"}]}}`
(401 and 429, routablehq/python-quickbooks#250), which also carries null siblings.
"""

from __future__ import annotations

from typing import Any


class QboFault(Exception):
    """An API-level Fault; `status` is the HTTP status QBO answers with."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        status: int = 400,
        type_: str = "ValidationFault",
        element: str = "",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code, self.message, self.detail = code, message, detail
        self.status, self.type, self.element = status, type_, element

    def fault(self) -> dict[str, Any]:
        error = {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }
        return {"Error": [error], "type": self.type}


class GatewayFault(Exception):
    """A fault raised before the request reaches the API (auth, throttling)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(f"gateway {status}")
        self.status, self.body, self.headers = status, body, headers or {}


def stale_object(entity: str) -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and sandbox were working on this at the same time. "
        f"sandbox finished before you did, so your work was not saved. ({entity})",
    )


def duplicate_name(kind: str) -> QboFault:
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this "
        "name. Please use a different name.",
    )


# 6140, not 6210 (6210 is "Account Period Closed"): the Detail names the holder, as in
# https://quickbooks.intuit.com/learn-support/en-us/other-questions/error-code-6140-duplicate-document-error-manual-invoices-are/00/1533226
# and the recorded fault quoted in https://support.clio.com/hc/en-us/articles/115003454593
TXN_TYPE_NAMES = {"CreditMemo": "Credit Memo"}


def duplicate_doc_number(number: str, entity: str, holder: str) -> QboFault:
    return QboFault(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. "
        f"This number has already been used. DocNumber={number} is assigned to "
        f"TxnType={TXN_TYPE_NAMES.get(entity, entity)} with TxnId={holder}",
    )


def not_found(entity: str, ref: str, element: str = "") -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        f"Check the fields with accounts, customers, items, vendors or employees. "
        f"{entity} {ref}",
        element=element,
    )


def business(detail: str, element: str = "") -> QboFault:
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element=element,
    )


def required(element: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element=element,
    )


def invalid(element: str, detail: str) -> QboFault:
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{detail}",
        element=element,
    )


def string_length(element: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported "
        f"length. Min:0 Max:{maximum} supported. Supplied length:{supplied}",
        element=element,
    )


def query_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def unsupported(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", f"Operation {detail} is not supported.")


def not_found_object(entity: str, ident: str) -> QboFault:
    # Reading an Id that does not exist: QBO answers 400 with code 610 as well.
    return QboFault(
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive. "
        f"{entity} Id={ident}",
    )


def system_fault() -> QboFault:
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: An unknown error occurred",
        status=500,
        type_="SystemFault",
    )


def gateway_body(
    code: str, key: str, status: int, detail: str, type_: str, epoch_ms: int
) -> dict[str, Any]:
    """The gateway's envelope, lowercase keys and all its null siblings."""
    error = {
        "message": f"message={key}; errorCode=00{code}; statusCode={status}",
        "detail": detail,
        "code": code,
        "element": None,
    }
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {"error": [error], "type": type_},
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": epoch_ms,
        "status": None,
        "cdcresponse": [],
    }


def unauthorized(detail: str, epoch_ms: int) -> GatewayFault:
    body = gateway_body("3200", "AuthenticationFailed", 401, detail, "AUTHENTICATION", epoch_ms)
    header = 'Bearer realm="Intuit", error="invalid_token"'
    return GatewayFault(401, body, {"www-authenticate": header})


def forbidden(detail: str, epoch_ms: int) -> GatewayFault:
    body = gateway_body(
        "3100", "ApplicationAuthorizationFailed", 403, detail, "AUTHORIZATION", epoch_ms
    )
    return GatewayFault(403, body)


def throttled(epoch_ms: int) -> GatewayFault:
    # Two spaces before "Try": copied from the recorded body (beanworks/quickbooks-online-v3-sdk#6).
    detail = "The request limit was reached.  Try again later"
    return GatewayFault(
        429, gateway_body("3001", "ThrottleExceeded", 429, detail, "SERVICE", epoch_ms)
    )
