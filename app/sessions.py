"""Flask's signed-cookie session, minus its fixed cost on requests that carry no session (every API call).

Flask builds a signing serializer to open every request's session and reads seven cookie settings to save it,
even when the request has no session cookie and the view never touches the session. This interface answers
those requests with the same empty session and the same response, without that work; a request with a session
cookie, or whose session was filled or emptied, goes through Flask's own code unchanged.
"""
from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface that skips the signer and the cookie settings when there is nothing to do."""

    def open_session(self, app, request):
        """An empty session when the request has no session cookie (None, as Flask, without a secret key).

        A request without any Cookie header (every API call) is answered before the cookies are parsed."""
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        """Nothing to write for a session that is empty and was not emptied (Vary: Cookie if it was read)."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
