-- The symptom questionnaire's follow-up "Is this worse than usual for you?" (docs/protocol.md):
-- a yes/no answer, 1 yes and 0 no, asked when a symptom answer is 2 or more, sent with the
-- answers. No LOINC code (a question of hemkoll's own): hemkoll's metric code
-- (urn:hemkoll:metric) names it, as it names the symptom answers.
INSERT INTO metrics (metric, canonical_unit, loinc, description) VALUES
    ('worse_than_usual', '{score}', NULL,
     'Follow-up: is this worse than usual for you? 0 no, 1 yes');
