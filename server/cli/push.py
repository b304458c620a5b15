"""``flask push keys``: make the VAPID key pair web push needs, or show the public key already set (docs/push.md)."""
from __future__ import annotations

import base64

import click
from flask import current_app
from flask.cli import AppGroup

push_cli = AppGroup("push", help="Web push: notices shown on people's devices.")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key_pair() -> tuple[str, str]:
    """A fresh P-256 pair as (public, private): the applicationServerKey form, and the raw private key, both
    base64url, as VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY take them (pywebpush reads the private one)."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    vapid = Vapid()
    vapid.generate_keys()
    public = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return _b64url(public), _b64url(private)


@push_cli.command("keys")
@click.option("--new", "force_new", is_flag=True, help="Make a new pair even if one is set (every device must "
                                                         "then turn notices on again).")
def keys_command(force_new: bool) -> None:
    """Print the environment lines for a new VAPID key pair, or the public key if push is already set up."""
    cfg = current_app.config
    if cfg.get("VAPID_PUBLIC_KEY") and cfg.get("VAPID_PRIVATE_KEY") and not force_new:
        click.echo("Web push is set up. Its public key (what browsers subscribe with):")
        click.echo(cfg["VAPID_PUBLIC_KEY"])
        if not cfg.get("VAPID_SUBJECT"):
            click.echo("VAPID_SUBJECT is not set, so nothing is sent: set it to mailto:you@your-party.org.uk")
        return
    public, private = new_key_pair()
    click.echo("# Set these in the environment of the web and scheduler processes. Keep the private key secret;")
    click.echo("# changing the pair later means every device must turn notices on again.")
    click.echo(f"VAPID_PUBLIC_KEY={public}")
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    if not cfg.get("VAPID_SUBJECT"):
        click.echo("# and a real address push services can write to if this server misbehaves:")
        click.echo("VAPID_SUBJECT=mailto:digital@your-party.org.uk")
