-- Every present email has a syntax verdict from the Dagster asset
-- quality/email_checks. A contact without one would silently escape the
-- invalid_email, disposable_email, role_account and test_or_fake rules:
-- materialize quality/email_checks after loading contacts.

select
    contact_id,
    email_normalized
from {{ ref('int_quality__contact_emails') }}
where
    email_normalized is not null
    and not is_email_checked
