-- Plays per UTC day and display, whatever played: what a report by display
-- (or of one display) over weeks reads when it is not limited to a content or
-- a playlist. Without it a 30-day report by display summed about 780,000
-- hourly rows for 1,000 displays; with it, 30,000.
CREATE TABLE play_display_days (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, day, device_id, group_id)
);
CREATE INDEX play_display_days_device ON play_display_days (device_id, day);

INSERT INTO play_display_days (org_id, day, device_id, group_id, plays, ms)
SELECT org_id, (hour / 86400000) * 86400000, device_id, group_id,
    CAST(SUM(plays) AS BIGINT), CAST(SUM(ms) AS BIGINT)
FROM play_hours
GROUP BY org_id, (hour / 86400000) * 86400000, device_id, group_id;
