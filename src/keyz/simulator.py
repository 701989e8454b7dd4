"""A loopback stand-in for provider APIs, for the demo and command-line tests.

Serves payloads shaped exactly like each provider's documented examples, one
account per bearer token, under a per-provider prefix:

    sim = Simulator().start()
    sim.deepseek("sk-test", [("CNY", "110.00", "10.00", "100.00")])
    env["KEYZ_DEEPSEEK_BASE_URL"] = sim.base_url("deepseek")   # http://127.0.0.1:PORT/deepseek

Faults can be injected per token (status, headers, raw body, delay), and an
unknown token gets a 401 whose body echoes the key back, as some providers do:
keyz must never show it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # JSON-able object, or str/bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # how the body is sent: "whole"; "trickle" (a byte every trickle_every seconds);
    # "cut" (half of it, then the connection closes); "huge" (huge_bytes of JSON padding)
    mode: str = "whole"
    trickle_every: float = 2.0
    huge_bytes: int = 50 * 1024 * 1024


@dataclass
class Recorded:
    path: str
    token: str | None
    headers: dict[str, str]


class Simulator:
    """Threaded HTTP server on 127.0.0.1 with an ephemeral port."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Answer] = {}  # (token, path) -> answer
        self._faults: dict[str, list[Answer]] = {}  # token -> answers to give first, in order
        self.latency = 0.0  # seconds added to every answer
        self.now: datetime | None = None  # the accounts' clock; None follows the real one
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def _now(self) -> datetime:
        return self.now or datetime.now(UTC)

    # --- accounts, in each provider's documented shape -------------------------------------
    def deepseek(
        self, token: str, balances: list[tuple[str, str, str, str]], available: bool = True
    ) -> None:
        """balances: (currency, total, granted, topped_up) as the decimal strings DeepSeek sends."""
        infos = [
            {"currency": c, "total_balance": t, "granted_balance": g, "topped_up_balance": u}
            for c, t, g, u in balances
        ]
        self.route(
            token,
            "/deepseek/user/balance",
            Answer(body={"is_available": available, "balance_infos": infos}),
        )

    def openrouter(
        self,
        token: str,
        *,
        management: bool,
        total_credits: float = 100.5,
        total_usage: float = 25.75,
        limit: float | None = 100,
        limit_remaining: float | None = 74.5,
        limit_reset: str | None = "monthly",
        usage: float = 25.5,
    ) -> None:
        if management:
            body: Any = {"data": {"total_credits": total_credits, "total_usage": total_usage}}
            self.route(token, "/openrouter/api/v1/credits", Answer(body=body))
        else:
            forbidden = {
                "error": {"code": 403, "message": "Only management keys can fetch credits"}
            }
            self.route(token, "/openrouter/api/v1/credits", Answer(403, forbidden))
        key = {
            "label": "sk-or-v1-au7...890",
            "limit": limit,
            "limit_reset": limit_reset,
            "limit_remaining": limit_remaining,
            "include_byok_in_limit": False,
            "usage": usage,
            "usage_daily": usage,
            "usage_weekly": usage,
            "usage_monthly": usage,
            "byok_usage": 0,
            "byok_usage_daily": 0,
            "byok_usage_weekly": 0,
            "byok_usage_monthly": 0,
            "is_free_tier": False,
            "is_management_key": management,
            "is_provisioning_key": management,
            "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000",
            "expires_at": None,
            "rate_limit": {
                "requests": 1000,
                "interval": "1h",
                "note": "This field is deprecated and safe to ignore.",
            },
        }
        self.route(token, "/openrouter/api/v1/key", Answer(body={"data": key}))

    def moonshot(
        self,
        token: str,
        available: str = "49.58894",
        voucher: str = "46.58893",
        cash: str = "3.00001",
    ) -> None:
        """Numbers, as Moonshot sends them (currency depends on the region's host)."""
        data = {
            "available_balance": Decimal(available),
            "voucher_balance": Decimal(voucher),
            "cash_balance": Decimal(cash),
        }
        body = {"code": 0, "data": data, "scode": "0x0", "status": True}
        self.route(token, "/moonshot/v1/users/me/balance", Answer(body=body))

    def novita(
        self,
        token: str,
        available: str = "1000000",
        cash: str = "800000",
        credit_limit: str = "200000",
    ) -> None:
        """Strings in 1/10000 USD."""
        body = {
            "availableBalance": available,
            "cashBalance": cash,
            "creditLimit": credit_limit,
            "pendingCharges": "0",
            "outstandingInvoices": "0",
        }
        self.route(token, "/novita/openapi/v1/billing/balance/detail", Answer(body=body))

    def xai(self, token: str, team_id: str = "team-1234", total_cents: str = "-250") -> None:
        """A management key of team ``team_id``; ``total_cents`` on xAI's inverted ledger."""
        validation = {
            "apiKeyId": "key-1",
            "teamId": team_id,
            "scope": "SCOPE_TEAM",
            "scopeId": team_id,
            "name": "keyz",
        }
        self.route(token, "/xai/auth/management-keys/validation", Answer(body=validation))
        body = {
            "changes": [{"topupStatus": "SUCCEEDED", "amount": {"val": "-1000"}}],
            "total": {"val": total_cents},
        }
        self.route(token, f"/xai/v1/billing/teams/{team_id}/prepaid/balance", Answer(body=body))

    def siliconflow(
        self, token: str, total: str = "88.88", gift: str = "0.88", charged: str = "88.00"
    ) -> None:
        data = {
            "id": "userid",
            "name": "username",
            "image": "",
            "email": "user@example.com",
            "isAdmin": False,
            "balance": gift,
            "status": "normal",
            "introduction": "",
            "role": "",
            "chargeBalance": charged,
            "totalBalance": total,
        }
        body = {"code": 20000, "message": "OK", "status": True, "data": data}
        self.route(token, "/siliconflow/v1/user/info", Answer(body=body))

    def fal(self, token: str, balance: str = "24.5", currency: str = "USD") -> None:
        body = {
            "username": "my-team",
            "credits": {"current_balance": Decimal(balance), "currency": currency},
        }
        self.route(token, "/fal/v1/account/billing", Answer(body=body))

    def venice(
        self, token: str, usd: str = "25", diem: str = "90.5", can_consume: bool = True
    ) -> None:
        body = {
            "canConsume": can_consume,
            "consumptionCurrency": "DIEM",
            "balances": {"diem": Decimal(diem), "usd": Decimal(usd)},
            "diemEpochAllocation": 100,
        }
        self.route(token, "/venice/api/v1/billing/balance", Answer(body=body))

    def poe(self, token: str, points: int = 1500) -> None:
        self.route(
            token, "/poe/usage/current_balance", Answer(body={"current_point_balance": points})
        )

    def anthropic(self, token: str, daily_cents: list[str]) -> None:
        """One cost-report page: ``daily_cents[i]`` was spent i days ago (strings in cents)."""
        today = self._now().replace(hour=0, minute=0, second=0, microsecond=0)
        buckets = [
            {
                "starting_at": _iso(today - timedelta(days=i)),
                "ending_at": _iso(today - timedelta(days=i - 1)),
                "results": [
                    {
                        "amount": cents,
                        "currency": "USD",
                        "cost_type": None,
                        "description": None,
                        "model": None,
                        "service_tier": None,
                        "context_window": None,
                        "token_type": None,
                        "workspace_id": None,
                    }
                ],
            }
            for i, cents in reversed(list(enumerate(daily_cents)))
        ]
        body = {"data": buckets, "has_more": False, "next_page": None}
        self.route(token, "/anthropic/v1/organizations/cost_report", Answer(body=body))

    def openai(self, token: str, daily_dollars: list[str]) -> None:
        """One costs page: ``daily_dollars[i]`` spent i days ago (sent as numbers)."""
        today = int(self._now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
        buckets = [
            {
                "object": "bucket",
                "start_time": today - i * 86400,
                "end_time": today - (i - 1) * 86400,
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": Decimal(value), "currency": "usd"},
                        "line_item": None,
                        "project_id": None,
                        "api_key_id": None,
                        "quantity": None,
                    }
                ],
            }
            for i, value in reversed(list(enumerate(daily_dollars)))
        ]
        body = {"object": "page", "data": buckets, "has_more": False, "next_page": None}
        self.route(token, "/openai/v1/organization/costs", Answer(body=body))

    def minimax(
        self,
        token: str,
        interval_percent: str = "89.93",
        weekly_percent: str = "97",
        status_code: int = 0,
    ) -> None:
        now = int(self._now().timestamp() * 1000)
        row = {
            "model_name": "MiniMax-M2",
            "start_time": now - 3_600_000,
            "end_time": now + 4 * 3_600_000,
            "remains_time": 4 * 3_600_000,
            "current_interval_total_count": 1500,
            "current_interval_usage_count": 151,
            "current_interval_remaining_percent": Decimal(interval_percent),
            "current_interval_status": 1,
            "weekly_start_time": now - 86_400_000,
            "weekly_end_time": now + 6 * 86_400_000,
            "current_weekly_total_count": 15000,
            "current_weekly_usage_count": 450,
            "current_weekly_remaining_percent": Decimal(weekly_percent),
            "current_weekly_status": 1,
        }
        messages = {0: "success", 1004: "login fail", 2049: "invalid api key", 2062: "no plan"}
        body = {
            "base_resp": {"status_code": status_code, "status_msg": messages[status_code]},
            "model_remains": [row, {**row, "model_name": "video"}],
        }
        self.route(token, "/minimax/v1/token_plan/remains", Answer(body=body))

    def zai(self, token: str, used_percent: int = 28) -> None:
        reset = int(self._now().timestamp() * 1000) + 2 * 3_600_000
        limits = [
            {
                "type": "TOKENS_LIMIT",
                "unit": 3,
                "number": 5,
                "usage": 40_000_000,
                "currentValue": 11_200_000,
                "remaining": 28_800_000,
                "percentage": used_percent,
                "nextResetTime": reset,
            },
            {
                "type": "TOKENS_LIMIT",
                "unit": 6,
                "number": 1,
                "usage": 400_000_000,
                "currentValue": 236_000_000,
                "remaining": 164_000_000,
                "percentage": 59,
                "nextResetTime": reset + 3 * 86_400_000,
            },
            {
                "type": "TIME_LIMIT",
                "unit": 5,
                "number": 1,
                "usage": 1000,
                "currentValue": 10,
                "remaining": 990,
                "percentage": 1,
                "usageDetails": [{"modelCode": "search-prime", "usage": 10}],
            },
        ]
        body = {
            "success": True,
            "code": 200,
            "msg": "Operation successful",
            "data": {"limits": limits, "planName": "Pro"},
        }
        self.route(token, "/zai/api/monitor/usage/quota/limit", Answer(body=body))

    def elevenlabs(self, token: str, used: int = 6200, limit: int = 10000) -> None:
        body = {
            "tier": "starter",
            "character_count": used,
            "character_limit": limit,
            "can_extend_character_limit": False,
            "allowed_to_extend_character_limit": False,
            "next_character_count_reset_unix": int(self._now().timestamp()) + 12 * 86400,
            "voice_slots_used": 1,
            "voice_limit": 10,
            "status": "active",
            "currency": "usd",
            "billing_period": "monthly_period",
            "character_refresh_period": "monthly_period",
        }
        self.route(token, "/elevenlabs/v1/user/subscription", Answer(body=body))

    def route(self, token: str, path: str, answer: Answer) -> None:
        with self._lock:
            self._routes[(token, path)] = answer

    def fail(self, token: str, *answers: Answer) -> None:
        """The next requests with ``token`` get these answers, in order, whatever the path."""
        with self._lock:
            self._faults.setdefault(token, []).extend(answers)

    # --- server --------------------------------------------------------------------------------
    def start(self) -> Simulator:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # http.server's naming
                simulator._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="keyz-simulator",
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the simulator first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def base_url(self, provider_id: str) -> str:
        return f"{self.url}/{provider_id}"

    def env(self, *provider_ids: str) -> dict[str, str]:
        """KEYZ_<ID>_BASE_URL for each provider, pointing here."""
        return {
            f"KEYZ_{p.upper().replace('-', '_')}_BASE_URL": self.base_url(p) for p in provider_ids
        }

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        token = _token(handler.headers)
        path = handler.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(Recorded(path, token, dict(handler.headers)))
            queued = self._faults.get(token or "")
            answer = queued.pop(0) if queued else self._routes.get((token or "", path))
        if answer is None:
            if any(p == path for _, p in self._routes):
                # an unknown key; real providers sometimes echo it back: keyz must not show it
                answer = Answer(
                    401, {"error": {"message": f"Invalid API key: {token}", "code": 401}}
                )
            else:
                answer = Answer(404, {"error": {"message": f"no route {path}"}})
        time.sleep(self.latency + answer.delay)
        body = answer.body
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, default=_number).encode()
        handler.send_response(answer.status)
        headers = {"Content-Type": "application/json", **answer.headers}
        for name, value in headers.items():
            handler.send_header(name, value)
        size = answer.huge_bytes if answer.mode == "huge" else len(data)
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            if answer.mode == "trickle":
                for byte in data:
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(answer.trickle_every)
            elif answer.mode == "cut":
                handler.wfile.write(data[: len(data) // 2])
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(2)  # socket.SHUT_RDWR
            elif answer.mode == "huge":
                handler.wfile.write(b'{"pad": "')
                chunk = b"x" * 65536
                for _ in range(answer.huge_bytes // len(chunk)):
                    handler.wfile.write(chunk)
            else:
                handler.wfile.write(data)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(headers: Any) -> str | None:
    """The key, however the provider wants it sent (Bearer, Key, x-api-key, xi-api-key, raw)."""
    auth = headers.get("Authorization", "")
    for scheme in ("Bearer ", "Key "):
        if auth.startswith(scheme):
            return str(auth[len(scheme) :])
    value = headers.get("x-api-key") or headers.get("xi-api-key") or auth
    return str(value) if value else None


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):  # as a provider sends it: 25, or 49.58894 (shortest repr)
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot send {type(value).__name__}")


__all__ = ["Answer", "Recorded", "Simulator"]
