"""Build the GACC reference dbt seeds (trading partners and HS8 commodity codes).

What: reads the China customs (GACC) code lists vendored from the MIT-licensed
chinautils project (../shared/reference/gacc/codes) and writes UTF-8 dbt seeds to
dbt_project/seeds/reference/:

* gacc_partners.csv - GACC trading-partner codes with English/Chinese names (from the
  manually cleaned lists, which fix typos such as 'Bahrian') and ISO 3166-1 codes.
* gacc_hs8_codes.csv - HS8 commodity codes, English/Chinese descriptions, legal units.
* LICENSE-chinautils.md - the upstream licence, copied alongside the data.

Why: GACC downloads carry GACC's own partner codes (502 = United States, not ISO) and
commodity names with typos, so the warehouse joins names and ISO codes from these seeds.

The ISO codes were mapped once by name (pycountry as a helper), checked by eye and
frozen in ISO_MAPPING below, so this script is stdlib-only, offline and deterministic.
Left empty, as empty beats a code for a different territory: regional 'other' buckets,
unknown/neutral/international entries, parts of a territory that have their own GACC
code (Canary Islands, Ceuta, Melilla, Bonaire, Saba, French Polynesian island groups),
and split or dissolved entities (Saint Martin, Netherlands Antilles, Serbia and
Montenegro).

Input quirks handled: the HS8 lists are GB18030; every line ends in a trailing comma;
quotes inside English descriptions are not escaped (`"with "herring-bone", for"`);
descriptions may hold line breaks, carriage returns or control characters; `?` marks a
missing second unit. Codes stay strings (leading zeros).

Usage: python scripts/build_reference_seeds.py [--reference-dir PATH] [--out-dir PATH]
"""

import argparse
import csv
import re
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE_DIR = REPO_ROOT.parent / "shared" / "reference" / "gacc" / "codes"
DEFAULT_OUT_DIR = REPO_ROOT / "dbt_project" / "seeds" / "reference"

# GACC partner code, ISO 3166-1 alpha-2, alpha-3, name (for review only). Codes not
# listed get empty ISO columns; the script prints them at the end.
ISO_MAPPING = """\
101 AF AFG  Afghanistan
102 BH BHR  Bahrain
103 BD BGD  Bangladesh
104 BT BTN  Bhutan
105 BN BRN  Brunei
106 MM MMR  Myanmar
107 KH KHM  Cambodia
108 CY CYP  Cyprus
109 KP PRK  North Korea
110 HK HKG  Hong Kong
111 IN IND  India
112 ID IDN  Indonesia
113 IR IRN  Iran
114 IQ IRQ  Iraq
115 IL ISR  Israel
116 JP JPN  Japan
117 JO JOR  Jordan
118 KW KWT  Kuwait
119 LA LAO  Laos
120 LB LBN  Lebanon
121 MO MAC  Macau
122 MY MYS  Malaysia
123 MV MDV  Maldives
124 MN MNG  Mongolia
125 NP NPL  Nepal
126 OM OMN  Oman
127 PK PAK  Pakistan
128 PS PSE  Palestine
129 PH PHL  Philippines
130 QA QAT  Qatar
131 SA SAU  Saudi Arabia
132 SG SGP  Singapore
133 KR KOR  South Korea
134 LK LKA  Sri Lanka
135 SY SYR  Syria
136 TH THA  Thailand
137 TR TUR  Turkey
138 AE ARE  United Arab Emirates
139 YE YEM  Yemen
141 VN VNM  Vietnam
142 CN CHN  China
143 TW TWN  Taiwan
144 TL TLS  East Timor
145 KZ KAZ  Kazakhstan
146 KG KGZ  Kyrgyzstan
147 TJ TJK  Tajikistan
148 TM TKM  Turkmenistan
149 UZ UZB  Uzbekistan
201 DZ DZA  Algeria
202 AO AGO  Angola
203 BJ BEN  Benin
204 BW BWA  Botswana
205 BI BDI  Burundi
206 CM CMR  Cameroon
208 CV CPV  Cape Verde
209 CF CAF  Central African Republic
211 TD TCD  Chad
212 KM COM  Comoros
213 CG COG  Republic of the Congo
214 DJ DJI  Djibouti
215 EG EGY  Egypt
216 GQ GNQ  Equatorial Guinea
217 ET ETH  Ethiopia
218 GA GAB  Gabon
219 GM GMB  Gambia
220 GH GHA  Ghana
221 GN GIN  Guinea
222 GW GNB  Guinea-Bissau
223 CI CIV  Ivory Coast
224 KE KEN  Kenya
225 LR LBR  Liberia
226 LY LBY  Libya
227 MG MDG  Madagascar
228 MW MWI  Malawi
229 ML MLI  Mali
230 MR MRT  Mauritania
231 MU MUS  Mauritius
232 MA MAR  Morocco
233 MZ MOZ  Mozambique
234 NA NAM  Namibia
235 NE NER  Niger
236 NG NGA  Nigeria
237 RE REU  Réunion
238 RW RWA  Rwanda
239 ST STP  São Tomé and Príncipe
240 SN SEN  Senegal
241 SC SYC  Seychelles
242 SL SLE  Sierra Leone
243 SO SOM  Somalia
244 ZA ZAF  South Africa
245 EH ESH  Western Sahara
246 SD SDN  Sudan
247 TZ TZA  Tanzania
248 TG TGO  Togo
249 TN TUN  Tunisia
250 UG UGA  Uganda
251 BF BFA  Burkina Faso
252 CD COD  Democratic Republic of the Congo
253 ZM ZMB  Zambia
254 ZW ZWE  Zimbabwe
255 LS LSO  Lesotho
257 SZ SWZ  Eswatini
258 ER ERI  Eritrea
259 YT MYT  Mayotte
260 SS SSD  South Sudan
301 BE BEL  Belgium
302 DK DNK  Denmark
303 GB GBR  United Kingdom
304 DE DEU  Germany
305 FR FRA  France
306 IE IRL  Ireland
307 IT ITA  Italy
308 LU LUX  Luxembourg
309 NL NLD  Netherlands
310 GR GRC  Greece
311 PT PRT  Portugal
312 ES ESP  Spain
313 AL ALB  Albania
314 AD AND  Andorra
315 AT AUT  Austria
316 BG BGR  Bulgaria
318 FI FIN  Finland
320 GI GIB  Gibraltar
321 HU HUN  Hungary
322 IS ISL  Iceland
323 LI LIE  Liechtenstein
324 MT MLT  Malta
325 MC MCO  Monaco
326 NO NOR  Norway
327 PL POL  Poland
328 RO ROU  Romania
329 SM SMR  San Marino
330 SE SWE  Sweden
331 CH CHE  Switzerland
334 EE EST  Estonia
335 LV LVA  Latvia
336 LT LTU  Lithuania
337 GE GEO  Georgia
338 AM ARM  Armenia
339 AZ AZE  Azerbaijan
340 BY BLR  Belarus
343 MD MDA  Moldova
344 RU RUS  Russia
347 UA UKR  Ukraine
350 SI SVN  Slovenia
351 HR HRV  Croatia
352 CZ CZE  Czech Republic
353 SK SVK  Slovakia
354 MK MKD  North Macedonia
355 BA BIH  Bosnia and Herzegovina
356 VA VAT  Vatican City State
357 FO FRO  Faroe Islands
358 RS SRB  Serbia
359 ME MNE  Montenegro
401 AG ATG  Antigua and Barbuda
402 AR ARG  Argentina
403 AW ABW  Aruba
404 BS BHS  Bahamas
405 BB BRB  Barbados
406 BZ BLZ  Belize
408 BO BOL  Bolivia
410 BR BRA  Brazil
411 KY CYM  Cayman Islands
412 CL CHL  Chile
413 CO COL  Colombia
414 DM DMA  Dominica
415 CR CRI  Costa Rica
416 CU CUB  Cuba
417 CW CUW  Curaçao
418 DO DOM  Dominican Republic
419 EC ECU  Ecuador
420 GF GUF  French Guiana
421 GD GRD  Grenada
422 GP GLP  Guadeloupe
423 GT GTM  Guatemala
424 GY GUY  Guyana
425 HT HTI  Haiti
426 HN HND  Honduras
427 JM JAM  Jamaica
428 MQ MTQ  Martinique
429 MX MEX  Mexico
430 MS MSR  Montserrat
431 NI NIC  Nicaragua
432 PA PAN  Panama
433 PY PRY  Paraguay
434 PE PER  Peru
435 PR PRI  Puerto Rico
437 LC LCA  Saint Lucia
439 VC VCT  Saint Vincent and the Grenadines
440 SV SLV  El Salvador
441 SR SUR  Suriname
442 TT TTO  Trinidad and Tobago
443 TC TCA  Turks and Caicos Islands
444 UY URY  Uruguay
445 VE VEN  Venezuela
446 VG VGB  British Virgin Islands
447 KN KNA  Saint Kitts and Nevis
448 PM SPM  Saint Pierre and Miquelon
501 CA CAN  Canada
502 US USA  United States
503 GL GRL  Greenland
504 BM BMU  Bermuda
601 AU AUS  Australia
602 CK COK  Cook Islands
603 FJ FJI  Fiji
606 NR NRU  Nauru
607 NC NCL  New Caledonia
608 VU VUT  Vanuatu
609 NZ NZL  New Zealand
610 NF NFK  Norfolk Island
611 PG PNG  Papua New Guinea
613 SB SLB  Solomon Islands
614 TO TON  Tonga
617 WS WSM  Samoa
618 KI KIR  Kiribati
619 TV TUV  Tuvalu
620 FM FSM  Federated States of Micronesia
621 MH MHL  Marshall Islands
622 PW PLW  Palau
623 PF PYF  French Polynesia
625 WF WLF  Wallis and Futuna
"""

# Spot checks (GACC code:ISO2) that must hold whatever else changes upstream.
KEY_FACTS = "502:US 304:DE 133:KR 141:VN 116:JP 110:HK 121:MO 143:TW"

PARTNER_COLUMNS = ["partner_code", "partner_name_en", "partner_name_zh", "iso2", "iso3"]
HS8_COLUMNS = ["hs8_code", "description_en", "description_zh"]
HS8_COLUMNS += ["first_unit_code", "first_unit_en", "first_unit_zh"]
HS8_COLUMNS += ["second_unit_code", "second_unit_en", "second_unit_zh"]
HS8_COLUMNS += ["code_list_year"]


class Hs8(NamedTuple):
    desc: str = ""
    year: str = ""
    u1: str = ""
    u1_name: str = ""
    u2: str = ""
    u2_name: str = ""


# One HS8 record: code,"description",year,unit1,"unit1 name",unit2,"unit2 name", (with
# the trailing comma). Descriptions are matched lazily up to `",YYYY,` because the
# English list does not escape quotes inside them; DOTALL lets them span line breaks.
HS8_RECORD = re.compile(
    r'^(\d{8}),"(.*?)",(\d{4}),([0-9?]*),"(.*?)",([0-9?]*),"(.*?)",[ \t\r]*$',
    re.MULTILINE | re.DOTALL,
)


def clean(text: str) -> str:
    """Collapse whitespace and control characters to one space; '?' (missing) -> ''."""
    text = re.sub(r"[\s\x00-\x1f\x7f]+", " ", text).strip()
    return "" if text == "?" else text


def read_hs8(path: Path) -> dict[str, Hs8]:
    text = path.read_text(encoding="gb18030")
    pos = text.index("\n") + 1  # skip the header line
    rows: dict[str, Hs8] = {}
    for m in HS8_RECORD.finditer(text, pos):
        if text[pos : m.start()].strip():
            raise ValueError(f"{path.name}: bad record {text[pos : pos + 80]!r}")
        pos = m.end()
        code, desc, year, *units = m.groups()
        if code in rows:
            raise ValueError(f"{path.name}: duplicate code {code}")
        rows[code] = Hs8(clean(desc), year, *map(clean, units))
    if text[pos:].strip():
        raise ValueError(f"{path.name}: bad record {text[pos : pos + 80]!r}")
    # Guard against a description swallowing the next record.
    expected = len(re.findall(r"^\d{8},", text, re.MULTILINE))
    if len(rows) != expected:
        raise ValueError(f"{path.name}: {len(rows)} records, expected {expected}")
    return rows


def read_partner_names(path: Path, name_column: str) -> dict[str, str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        pairs = [(r["code"].strip(), clean(r[name_column])) for r in csv.DictReader(f)]
    if len(dict(pairs)) != len(pairs):
        raise ValueError(f"{path.name}: duplicate partner codes")
    return dict(pairs)


def build_partners(ref: Path) -> list[list[str]]:
    en = read_partner_names(ref / "en-TradingPartner-cleaned-manually.csv", "en")
    zh = read_partner_names(ref / "zh-TradingPartner-cleaned-manually.csv", "zh")
    iso = {c: (a2, a3) for c, a2, a3, *_ in map(str.split, ISO_MAPPING.splitlines())}
    if unknown := sorted(set(iso) - set(en) - set(zh)):
        raise ValueError(f"ISO mapping has codes not in the partner lists: {unknown}")
    for column in (0, 1):
        if len({pair[column] for pair in iso.values()}) != len(iso):
            raise ValueError("ISO mapping gives the same ISO code to two partners")
    for code, iso2 in (fact.split(":") for fact in KEY_FACTS.split()):
        if iso.get(code, ("",))[0] != iso2:
            raise ValueError(f"partner {code} should map to {iso2}")
    codes = sorted(set(en) | set(zh), key=lambda c: (len(c), c))
    return [[c, en.get(c, ""), zh.get(c, ""), *iso.get(c, ("", ""))] for c in codes]


def build_hs8(ref: Path) -> list[list[str]]:
    en, zh = read_hs8(ref / "en-hs8-2023.csv"), read_hs8(ref / "zh-hs8-2023.csv")
    rows = []
    for code in sorted(set(en) | set(zh)):
        e, z = en.get(code, Hs8()), zh.get(code, Hs8())
        if code in en and code in zh and (e.u1, e.u2, e.year) != (z.u1, z.u2, z.year):
            print(f"warning: {code}: English and Chinese lists disagree on units/year")
        u1, u2, year = e.u1 or z.u1, e.u2 or z.u2, e.year or z.year
        rows.append([code, e.desc, z.desc, u1, e.u1_name, z.u1_name])
        rows[-1] += [u2, e.u2_name, z.u2_name, year]
    only_en, only_zh = sorted(set(en) - set(zh)), sorted(set(zh) - set(en))
    print(f"hs8: {len(en)} English, {len(zh)} Chinese codes")
    print(f"  only English: {only_en or 'none'}; only Chinese: {only_zh or 'none'}")
    check = next((r[3:6] for r in rows if r[0] == "85051110"), None)
    if check != ["09", "Kilogram", "千克"]:
        raise ValueError(f"85051110: first unit should be 09 Kilogram/千克: {check}")
    return rows


def write_csv(path: Path, columns: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([columns, *rows])
    print(f"wrote {path} ({len(rows)} rows)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, default=DEFAULT_REFERENCE_DIR)
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    ref, out = args.reference_dir, args.out_dir

    partners, hs8 = build_partners(ref), build_hs8(ref)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "gacc_partners.csv", PARTNER_COLUMNS, partners)
    write_csv(out / "gacc_hs8_codes.csv", HS8_COLUMNS, hs8)
    shutil.copyfile(ref / "LICENSE-chinautils.md", out / "LICENSE-chinautils.md")

    unmapped = [p for p in partners if not p[3]]
    mapped = len(partners) - len(unmapped)
    print(f"partners: {mapped} of {len(partners)} mapped to ISO 3166-1, unmapped:")
    for code, name_en, name_zh, *_ in unmapped:
        print(f"  {code}  {name_en}  {name_zh}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
