"""``confidante keys``: create, list and revoke the HTTP server's API keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from confidante.cli.options import DataDir, settings_for
from confidante.cli.render import err, out, table, text

if TYPE_CHECKING:
    from confidante.serving.keys import KeyStore

T = TypeVar("T")

keys_app = typer.Typer(
    help="Manage the HTTP server's API keys.", no_args_is_help=True, rich_markup_mode=None
)


def _with_store(data_dir: DataDir, use: Callable[[KeyStore], T], *, existing: bool) -> T:
    from confidante.serving.keys import KeyStore

    store = KeyStore.open(settings_for(data_dir, existing=existing).resolved_data_dir())
    try:
        return use(store)
    finally:
        store.close()


@keys_app.command("create")
def keys_create(
    user: Annotated[str | None, typer.Option("--user", "-u", help="The user it acts for.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="May act for any user.")] = False,
    expires_in_days: Annotated[
        float | None,
        typer.Option("--expires-in-days", help="The key stops working this many days from now."),
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", help="Most requests per minute (beyond them: HTTP 429)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the key and its details as one JSON object.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create an API key for one user (or an admin key); only the key goes to stdout, once.

    ``K=$(confidante keys create --user bob)`` captures exactly the key.
    """
    lifetime = timedelta(days=expires_in_days) if expires_in_days is not None else None
    key, secret = _with_store(
        data_dir,
        lambda store: store.create(
            user_id=user, admin=admin, expires_in=lifetime, rate_limit_per_minute=rate_limit
        ),
        existing=False,
    )
    if as_json:
        details = {
            "id": key.id,
            "prefix": key.prefix,
            "user": key.user_id,
            "admin": key.admin,
            "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            "rate_limit_per_minute": key.rate_limit_per_minute,
        }
        print(json.dumps({**details, "key": secret}))
        return
    who = "admin" if key.admin else f"user {key.user_id}"
    err.print(text(f"Created key {key.id} for {who}. It is shown only now, on stdout:"))
    print(secret)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List API keys (their ids and prefixes; the secrets are not stored)."""
    keys = _with_store(data_dir, lambda store: store.list(), existing=True)
    rows = [
        (
            key.id,
            key.prefix,
            "admin" if key.admin else str(key.user_id),
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
            f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "",
            f"{key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else "",
        )
        for key in keys
    ]
    columns = ("id", "prefix", "for", "created", "revoked", "expires", "limit")
    out.print(table("API keys", columns, rows))


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or prefix (see `keys list`).")],
    data_dir: DataDir = None,
) -> None:
    """Revoke an API key; it stops working at once."""
    key = _with_store(data_dir, lambda store: store.revoke(key_id), existing=True)
    err.print(text(f"Revoked {key.id} ({key.prefix}...)."))
