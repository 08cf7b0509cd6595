{#-
    One row per (month, hs8_code, partner_code) as it stands today: the month's current files'
    sums (int_customs_export_file_sums).

    When several current files of a month cover the same (hs8_code, partner) (for example a
    by-partner download and a by-partner-and-province download), the file released last wins (the
    one landed last, on the same day), so nothing is counted twice; source_file_sha256 names that
    file.
-#}
with

file_sums as (

    select * from {{ ref('int_customs_export_file_sums') }}
    where is_current

),

latest_file_wins as (

    select
        *,
        row_number() over (
            partition by month, hs8_code, partner_code
            order by released_on desc, landing_sequence desc
        ) as recency_rank

    from file_sums

)

select
    month,
    hs8_code,
    partner_code,
    quantity_kg,
    value_usd,
    source_file_sha256,
    source_row_count

from latest_file_wins
where recency_rank = 1
