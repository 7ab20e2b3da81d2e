"""One module per rule kind: a rule and a cohort context in, (patient, Finding) pairs out."""
