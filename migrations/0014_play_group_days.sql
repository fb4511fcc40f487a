-- Plays per UTC day and group, whatever played and wherever: what the
-- Analytics page's plays-per-day chart reads (and a report by group over
-- days), unless it is limited to a content, a playlist or a display. The
-- fleet's daily rows keep content and playlist too: a year of them for
-- 1,000 displays in 20 groups was 146,000 rows to sum for 365 bars; these
-- are at most 365 a group.
CREATE TABLE play_group_days (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, group_id)
);

INSERT INTO play_group_days (org_id, day, group_id, plays, ms)
SELECT org_id, day, group_id, CAST(SUM(plays) AS BIGINT), CAST(SUM(ms) AS BIGINT)
FROM play_fleet_days
GROUP BY org_id, day, group_id;
