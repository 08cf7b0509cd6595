"""GACC's monthly commodity tables (the flash 全国出口/进口重点商品量值表 and tables (13)/(14)
出口/进口主要商品量值表): the headline series, rare earths (稀土) exported and imported, and any
other line the catalogue names. Read, land, gate, load: one module per stage, as for the magnet
downloads (``critmin.sources.gacc``). The layout of the tables: ``FORMAT-major-commodities.md``
in the shared reference, summarised in ``layout.py``.
"""

#: The source's name in the landing folder, the raw zone's manifest and the quarantine: one folder
#: per release month (the latest month a table covers), e.g. ``landing/gacc/tables/2025-04/``.
SOURCE = "gacc/tables"
#: What a data engineer does about a refused table.
WHAT_TO_DO = (
    "download the table again from GACC (the .xls attachment, or save the page's table as HTML), put it "
    "in landing/gacc/tables/{month}/ (under the same name to replace the refused version) and run the "
    "release month again"
)
