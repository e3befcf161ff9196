"""台账 downloads: Excel (.xlsx) or CSV, by month and community."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

from flask import Blueprint, Response, abort, render_template, request
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from console import ledgers
from console.access import READ, allow, chosen_community, communities, require_community
from console.web import config, db, now, to_id
from core.texts import text
from models import Community

bp = Blueprint("exports", __name__, url_prefix="/console/exports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("")
@allow(*READ)
def index():
    return render_template("console/exports.html", communities=communities(), kinds=ledgers.KINDS,
                           month=now().astimezone(config().tz).strftime("%Y-%m"))


@bp.get("/<kind>.<fmt>")
@allow(*READ)
def download(kind: str, fmt: str):
    if kind not in ledgers.KINDS or fmt not in ("xlsx", "csv"):
        abort(404)
    community_id = to_id(request.args.get("community")) or chosen_community(None)
    if community_id is None:
        abort(400)
    require_community(community_id)
    month = request.args.get("month", "")
    try:
        title, header, rows = ledgers.build(db(), config(), kind, community_id, month)
    except ValueError:
        abort(400)
    community = db().get(Community, community_id)
    name = f"{community.name}-{title}.{fmt}"
    body = _xlsx(f"{community.name} {title}", header, rows) if fmt == "xlsx" else _csv(header, rows)
    response = Response(body, mimetype=XLSX if fmt == "xlsx" else "text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(name, f"{kind}-{month}.{fmt}")
    return response


def _attachment(name: str, fallback: str) -> str:
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _csv(header: list[str], rows: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def _cell(value):
    """Neutralise spreadsheet formulas in resident-written text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _xlsx(title: str, header: list[str], rows: list[list]) -> bytes:
    """The ledger as the paper form: merged title, boxed and wrapped cells, A4 landscape
    fitted to the page width, the header row repeated on every page, page numbers, and the
    经办人 / 审核人 / 日期 signature line."""
    book = Workbook()
    sheet = book.active
    sheet.title = title[-31:]
    width = len(header)
    sheet.append([title])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    for column in sheet.iter_cols(min_row=2, max_row=sheet.max_row):
        longest = max(len(str(c.value or "")) for c in column)
        sheet.column_dimensions[column[0].column_letter].width = max(6, min(36, longest * 2 + 2))
        for cell in column:
            cell.border = BOX
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    sheet.append([])
    sheet.append([text("c_ledger_signatures")])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=width)
    sheet.freeze_panes = "A3"
    setup = sheet.page_setup
    setup.paperSize, setup.orientation = sheet.PAPERSIZE_A4, sheet.ORIENTATION_LANDSCAPE
    setup.fitToWidth, setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "2:2"
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = text("c_ledger_page")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
