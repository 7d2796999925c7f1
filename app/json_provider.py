"""JSON responses written by orjson: the document Flask's own provider writes (keys sorted, dates as HTTP dates,
UUIDs and decimals as strings), as UTF-8 rather than \\u escapes, in about a tenth of the time.

Only responses take this path (`jsonify`, a view returning a dict or list); `dumps` (the templates' `tojson`)
stays Flask's. Anything orjson will not write the same way (an integer beyond 64 bits, a type only Flask's
`default` knows how to refuse) goes through Flask's provider, as does the indented output of debug mode.
"""
import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
            | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS)  # those two: Flask's `default`


class FastJSONProvider(DefaultJSONProvider):
    """Flask's DefaultJSONProvider with its responses encoded by orjson."""

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().response(obj)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)
