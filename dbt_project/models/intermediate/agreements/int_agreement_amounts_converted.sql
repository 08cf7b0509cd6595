{#- Each stated amount in US dollars, with the USD rate in force on the announcement date.
    An undisclosed amount stays NULL, never zero. -#}
with

amounts as (

    select * from {{ ref('stg_registers__agreement_amounts') }}

),

agreements as (

    select * from {{ ref('stg_registers__agreements') }}

),

rates as (

    select * from {{ ref('stg_registers__fx_rates') }}

),

rated as (

    select
        amounts.*,
        rates.usd_per_unit,
        row_number() over (
            partition by amounts.agreement_id, amounts.amount_order
            order by rates.valid_from desc
        ) as rate_rank

    from amounts
    inner join agreements
        on amounts.agreement_id = agreements.agreement_id
    left join rates
        on amounts.currency = rates.currency
        and agreements.announced_on >= rates.valid_from

)

select
    agreement_id,
    amount_order,
    amount as amount_original,
    currency,
    cast(amount * usd_per_unit as decimal(20, 2)) as amount_usd,
    qualifier,
    purpose,
    is_headline,
    as_stated

from rated
where rate_rank = 1
