"""The monitoring dashboards' tables as CSV (docs/monitoring.md): formula cells neutralised, every download audited."""
from __future__ import annotations

import io
from datetime import date

from server.auth.policy import Principal
from server.errors import ValidationFailed
from server.extensions import db
from server.services import activity, audit, sync_health
from server.services.csv_safe import SafeWriter

MEASURE_HEADINGS = ["Doors knocked", "Calls made", "Conversations", "Electors reached (in period)",
                    "Active volunteers", "Electors reached (campaign to date)"]


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{100 * rate:.1f}"


def _counts(row: dict) -> list:
    return [row["doors"], row["calls"], row["conversations"], row["reached"], row["volunteers"], row["reached_to_date"]]


def _units(board: dict) -> tuple[list[str], list[list]]:
    headings = ["Level", "Code", "Name", *MEASURE_HEADINGS, "Electorate", "Contact rate (%)", "Why no rate",
                "Peers' median (%)", "Percentile among peers", "Regional average (%)", "Period", "Rate window"]
    rows = []
    for u in board["units"]:
        c = u["comparison"] or {}
        rows.append([board["level"], u["code"], u["name"], *_counts(u), u["electorate"], _pct(u["contact_rate"]),
                     u["rate_note"] or "", _pct(c.get("peer_median")),
                     "" if c.get("percentile") is None else round(c["percentile"]),
                     _pct(c.get("regional_average")), board["period"]["label"], board["rate_window"]])
    return headings, rows


def _weeks(board: dict) -> tuple[list[str], list[list]]:
    headings = ["Week beginning", *MEASURE_HEADINGS, "Contact rate to date (%)", "Provisional", "Area", "Campaign"]
    return headings, [[w["week"].isoformat(), *_counts(w), _pct(w["contact_rate_to_date"]),
                       "yes" if w["provisional"] else "no", board["scope"]["name"], board["campaign"]["name"]]
                      for w in board["weeks"]]


def _peers(found: dict) -> tuple[list[str], list[list]]:
    headings = ["Role", "Code", "Name", "Contact rate (%)", "Electors reached", "Electorate", "Distance",
                "Similar in", "Rate window"]
    rows = [["seat", found["seat"]["code"], found["seat"]["name"], _pct(found["rate"]), found["reached"],
             found["electorate"], "", "", found["rate_window"]]]
    rows += [["peer", p["code"], p["name"], _pct(p["rate"]), p["reached"], p["electorate"], p["distance"],
              p["similar_in_words"], found["rate_window"]] for p in found["peers"]]
    rows += [["same region", s["code"], s["name"], _pct(s["rate"]), s["reached"], s["electorate"], "", "",
              found["rate_window"]] for s in found["region_seats"] if s["id"] != found["seat"]["id"]]
    return headings, rows


def _sync_health(report: dict) -> tuple[list[str], list[list]]:
    headings = ["CLP", "Volunteer", "Device", "Role", "Unsent records", "Oldest unsent", "Last seen", "Days silent",
                "At risk", "App version"]
    return headings, [[d["constituency_name"] or "", d["volunteer_name"] or "", d["device_name"] or "", d["role"],
                       d["unsent"], d["oldest_unsent_at"].isoformat() if d["oldest_unsent_at"] else "",
                       d["last_seen_at"].isoformat(), d["days_silent"], "yes" if d["at_risk"] else "no",
                       d["app_version"] or ""] for d in report["devices"]]


def _file_part(text: str) -> str:
    """A name for the file: ASCII letters and digits, the rest as "-". A header a WSGI server sends as latin-1
    cannot hold "ŵ" (gunicorn answers 500), and a quote would end the file name early."""
    return "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in text).strip("-")


def export_csv(principal: Principal, *, table: str, campaign_id: int | None = None, region_id: int | None = None,
               constituency_id: int | None = None, level: str | None = None, since: date | None = None,
               until: date | None = None, **comparison) -> tuple[str, str]:
    """One dashboard table as CSV, and its file name; the download is audited with what it covered."""
    if table == "sync-health":
        headings, rows = _sync_health(sync_health.report(principal))
        name = "sync-health"
        covered = None
    elif table == "peers":
        if constituency_id is None:
            raise ValidationFailed("Name the seat whose peers to download.",
                                   details={"constituency_id": ["Required for the peers table."]})
        found = activity.seat_comparison(principal, constituency_id, campaign_id=campaign_id, **comparison)
        headings, rows = _peers(found)
        name = f"peers-{_file_part(found['seat']['code'])}-{found['campaign']['id']}"
        covered = found["campaign"]["id"]
    else:
        board = activity.dashboard(principal, campaign_id=campaign_id, region_id=region_id,
                                   constituency_id=constituency_id, level=level, since=since, until=until)
        headings, rows = (_units if table == "units" else _weeks)(board)
        area = board["scope"]["name"].lower()
        name = f"{table}-{_file_part(area)}-{board['campaign']['id']}"
        covered = board["campaign"]["id"]
    handle = io.StringIO()
    writer = SafeWriter(handle)
    writer.writerow(headings)
    writer.writerows(rows)
    audit.record_for(principal, "activity.export", target_type="constituency" if constituency_id else None,
                     target_id=constituency_id,
                     # The campaign the file covers, also when it was the default (the one running today).
                     details={"table": table, "rows": len(rows), "campaign_id": covered, "region_id": region_id,
                              "constituency_id": constituency_id, "level": level,
                              "since": since.isoformat() if since else None,
                              "until": until.isoformat() if until else None})
    db.session.commit()
    return f"{name}.csv", handle.getvalue()
