{#-
    Every vintage of every customs figure of the magnet tariff codes (var('magnet_hs8_codes'), the
    series critmin carries): one row per (month, hs8_code, partner_code) and stretch
    of time in which what had been published for it did not change, from realtime_start (the day
    the release that published it came out) to realtime_end (the day a later release changed or
    withdrew it; 9999-12-31 while it stands), as ALFRED keeps FRED's series.

    What was known on a day: for each file name of the month, its latest version released on or
    before that day; where two known files cover the same figure, the one released last wins (the
    one landed last, on the same day), as int_customs_exports_aggregated decides today. A release
    that leaves a figure as it was adds no vintage: a vintage is stored once per change. Two
    releases on the same day are one: the later landed is what was known that day.

    Incremental: a run recomputes the vintages of the months it loaded (macros/months_to_build.sql),
    deleting them first.
-#}
{{
    config(
        materialized='incremental',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where month in (select cast(data_month as date) from ({{ months_to_build_sql() }}) as built){% endif %}"
    )
}}

with

file_sums as (

    select * from {{ ref('int_customs_export_file_sums') }}
    where
        hs8_code in ({{ magnet_hs8_codes_sql() }})
        {% if is_incremental() -%}
            and month in (select cast(built.data_month as date) from ({{ months_to_build_sql() }}) as built)
        {%- endif %}

),

versions as (

    select distinct
        month,
        source_file_sha256,
        source_file_name,
        released_on,
        landing_sequence
    from file_sums

),

release_days as (

    select distinct
        month,
        released_on as known_on
    from versions

),

-- the versions known on each release day: each file name's latest released by then
known_versions as (

    select
        release_days.month,
        release_days.known_on,
        versions.source_file_sha256,
        versions.released_on,
        versions.landing_sequence

    from release_days
    inner join versions
        on
        release_days.month = versions.month
        and release_days.known_on >= versions.released_on
    qualify row_number() over (
        partition by release_days.month, release_days.known_on, versions.source_file_name
        order by versions.released_on desc, versions.landing_sequence desc
    ) = 1

),

known_figures as (

    select
        known_versions.month,
        known_versions.known_on,
        file_sums.hs8_code,
        file_sums.partner_code,
        file_sums.quantity_kg,
        file_sums.value_usd,
        file_sums.source_file_sha256,
        file_sums.source_file_name,
        file_sums.release_date_basis

    from known_versions
    inner join file_sums
        on
        known_versions.month = file_sums.month
        and known_versions.source_file_sha256 = file_sums.source_file_sha256
    qualify row_number() over (
        partition by known_versions.month, known_versions.known_on, file_sums.hs8_code, file_sums.partner_code
        order by known_versions.released_on desc, known_versions.landing_sequence desc
    ) = 1

),

figures as (

    select distinct
        month,
        hs8_code,
        partner_code
    from known_figures

),

-- each figure on each release day of its month: published (with its numbers) or not (yet, or any more)
states as (

    select
        figures.month,
        figures.hs8_code,
        figures.partner_code,
        release_days.known_on,
        known_figures.source_file_sha256 is not null as is_published,
        known_figures.quantity_kg,
        known_figures.value_usd,
        known_figures.source_file_sha256,
        known_figures.source_file_name,
        known_figures.release_date_basis,
        -- what an analyst saw: the numbers, or nothing
        concat_ws(
            '|',
            known_figures.source_file_sha256 is not null,
            coalesce(cast(known_figures.quantity_kg as varchar), '?'),
            coalesce(cast(known_figures.value_usd as varchar), '?')
        ) as seen

    from figures
    inner join release_days
        on figures.month = release_days.month
    left join known_figures
        on
        figures.month = known_figures.month
        and figures.hs8_code = known_figures.hs8_code
        and figures.partner_code = known_figures.partner_code
        and release_days.known_on = known_figures.known_on

),

changes as (

    select *
    from states
    qualify
        seen is distinct from lag(seen) over (
            partition by month, hs8_code, partner_code order by known_on
        )

),

intervals as (

    select
        *,
        coalesce(
            lead(known_on) over (partition by month, hs8_code, partner_code order by known_on),
            date '{{ var("open_realtime_end") }}'
        ) as realtime_end

    from changes

)

select
    month,
    hs8_code,
    partner_code,
    quantity_kg,
    value_usd,
    known_on as realtime_start,
    realtime_end,
    row_number() over (partition by month, hs8_code, partner_code order by known_on) as vintage_number,
    source_file_sha256,
    source_file_name,
    release_date_basis

from intervals
where is_published
