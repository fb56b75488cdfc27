"""The floor: the smallest functions-framework HTTP function, measured beside ours."""

import functions_framework


@functions_framework.http
def hello(request):
    return {"result": "ok"}, 200
