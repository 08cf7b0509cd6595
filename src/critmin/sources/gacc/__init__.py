"""China customs (GACC) export downloads: read, land, gate, load, one module per stage."""

#: The source's name in the landing folder, the raw zone's manifest and the quarantine.
SOURCE = "gacc/export"
#: What a data engineer does about a refused download.
WHAT_TO_DO = (
    "fix or download the file again, put it in landing/gacc/export/{month}/ (under the same name to "
    "replace the refused version) and run the month again"
)
