"""Sign-in throttling per account that cannot lock the owner out.

Failed sign-ins are counted per account (the address typed, whether or not it has
an account, so the limit tells nobody which addresses do) under
``PORTAL_LOGIN_RATE_LIMIT``. Once an account is over its limit, only networks
(client addresses) that have not failed for it lately may still try: a correct
password from such a network signs in; a wrong one marks that network too. So
ten wrong guesses from ten addresses no longer lock the real user out for an
hour (attack finding 6), while every extra guess still costs an attacker a fresh
address. Counters live in the rate-limit storage (memory, or Redis in production).
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItem, parse_many

from portal.auth.models import normalise_email
from portal.extensions import limiter

NAMESPACE = "login-failures"


def _limits() -> list[RateLimitItem]:
    return parse_many(current_app.config["LOGIN_RATE_LIMIT"])


def _longest() -> RateLimitItem:
    return max(_limits(), key=lambda item: item.get_expiry())


def _memory() -> RateLimitItem:
    """"This network failed for this account" lasts as long as the longest limit."""
    longest = _longest()
    return type(longest)(1, longest.multiples, namespace=NAMESPACE)


class LoginThrottle:
    def __init__(self, email: str, address: str | None) -> None:
        self.account = normalise_email(email or "")[:254]
        self.address = address or "unknown"

    @property
    def _strategy(self):
        return limiter.limiter

    def account_locked(self) -> bool:
        return any(not self._strategy.test(item, NAMESPACE, self.account)
                   for item in _limits())

    def address_failed(self) -> bool:
        return not self._strategy.test(_memory(), NAMESPACE, self.account, self.address)

    def refused(self) -> bool:
        """Whether this attempt may not even be checked."""
        return self.account_locked() and self.address_failed()

    def failed(self) -> None:
        for item in _limits():
            self._strategy.hit(item, NAMESPACE, self.account)
        self._strategy.hit(_memory(), NAMESPACE, self.account, self.address)

    def recent_failures(self) -> int:
        """Failed attempts on the account within the longest window."""
        longest = _longest()
        stats = self._strategy.get_window_stats(longest, NAMESPACE, self.account)
        return longest.amount - stats.remaining

    def forgive_address(self) -> None:
        """The owner proved themselves from this network (a password reset link)."""
        self._strategy.clear(_memory(), NAMESPACE, self.account, self.address)
