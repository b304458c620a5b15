"""Importing local data: canvass sheets typed up from paper (CSV, .xlsx) and the app's file of unsent records.

This package is the pure part of the import: reading files, recognising columns, mapping codes, reading
dates, matching rows to electors. It touches no database, so every rule is tested on plain data; the
pipeline (preview, commit, undo, jobs) is built on it elsewhere. The steps, in order:

    table = read_table(data, filename, max_bytes=...)                 # read.py: or ImportRefused
    columns = map_columns(table.headings, questions=campaign.questions, saved=..., corrections=...)
    columns.require()                                                 # once confirmed: or ImportRefused
    codes = {name: propose_codes(name, values, campaign, saved=..., corrections=..., channel="door")
             for name, values in observed_codes(table, columns).items()}
    sheet = parse_sheet(table, columns, campaign, codes=codes, batch=BatchHeader(...), latest=today)
    identities = [r.identity for r in sheet.records]
    check_constituency(identities, ElectorIndex(constituency_electors), name=...)   # or ImportRefused
    results = match_rows(identities, ElectorIndex(electors))          # or any CandidateSupply

and, for the app's export file, ``read_export(data)``. What the CLP should remember for next time is
``columns.to_saved()`` and each ``codes[name].to_saved()``, given back as ``saved``.

The modules: read.py (CSV; the file as a whole), workbook.py (.xlsx), table.py (the Table both give),
columns.py, codes.py, dates.py, records.py (rows as canvass records), identity.py (elector numbers, rows and
electors, comparison keys), scoring.py (Fellegi-Sunter scores), matching.py (blocking and verdicts),
export_file.py, campaign.py (a campaign's codes as plain data), errors.py (ImportRefused and Problem).
Messages never repeat a name or an address from the file: they name rows, cells and columns instead.
"""
from server.services.imports.campaign import CampaignCodes, Code, Question
from server.services.imports.codes import (BLANK, SKIP_ROW, CodeChoice, CodeMapping, CodeTarget, UnknownCode,
                                           code_key, propose_codes)
from server.services.imports.columns import (FIELD_LABELS, ColumnChoice, ColumnMapping, Missing, heading_key,
                                             map_columns)
from server.services.imports.dates import DateColumn, DateError, ParsedDate, parse_date, read_dates
from server.services.imports.errors import ERROR, WARNING, ImportRefused, Problem
from server.services.imports.export_file import (EXPORT_FORMAT, ExportDevice, ExportFile, ExportRecord, ExportUser,
                                                 read_export)
from server.services.imports.matching import (CHOOSE, MATCHED, UNMATCHED, BlockingKeys, Candidate, CandidateElector,
                                              CandidateSupply, ElectorIndex, ElectorNumber, FieldScore, MatchResult,
                                              MatchSettings, RowIdentity, blocking_keys, check_constituency,
                                              match_rows, parse_elector_number, score_pair, summarise)
from server.services.imports.read import DEFAULT_MAX_BYTES, Row, Table, detect_format, read_table
from server.services.imports.records import BatchHeader, ParsedSheet, SheetRecord, observed_codes, parse_sheet

__all__ = [
    "BLANK", "CHOOSE", "DEFAULT_MAX_BYTES", "ERROR", "EXPORT_FORMAT", "FIELD_LABELS", "MATCHED", "SKIP_ROW",
    "UNMATCHED", "WARNING", "BatchHeader", "BlockingKeys", "CampaignCodes", "Candidate", "CandidateElector",
    "CandidateSupply", "Code", "CodeChoice", "CodeMapping", "CodeTarget", "ColumnChoice", "ColumnMapping",
    "DateColumn", "DateError", "ElectorIndex", "ElectorNumber", "ExportDevice", "ExportFile", "ExportRecord",
    "ExportUser", "FieldScore", "ImportRefused", "MatchResult", "MatchSettings", "Missing", "ParsedDate",
    "ParsedSheet", "Problem", "Question", "Row", "RowIdentity", "SheetRecord", "Table", "UnknownCode",
    "blocking_keys", "check_constituency", "code_key", "detect_format", "heading_key", "map_columns",
    "match_rows", "observed_codes", "parse_date", "parse_elector_number", "parse_sheet", "propose_codes",
    "read_dates", "read_export", "read_table", "score_pair", "summarise",
]
