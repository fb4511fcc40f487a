-- Weekly rollups (issue 12): seven whole UTC days from a multiple of seven
-- days after the epoch, beside the daily ones, so a report over a year
-- reads about 52 weekly rows and the days at its ends instead of 365 daily
-- rows per key (a year by display summed 365,000 daily rows for 1,000
-- displays; with weeks, about 60,000). Same keys as the daily tables.
CREATE TABLE play_fleet_weeks (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    week BIGINT NOT NULL,
    group_id TEXT NOT NULL,
    content_id TEXT NOT NULL,
    playlist_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, week, group_id, content_id, playlist_id)
);

CREATE TABLE play_display_weeks (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    week BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    plays BIGINT NOT NULL,
    ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, week, device_id, group_id)
);

CREATE TABLE status_weeks (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    week BIGINT NOT NULL,
    device_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    online_ms BIGINT NOT NULL,
    idle_ms BIGINT NOT NULL,
    offline_ms BIGINT NOT NULL,
    error_ms BIGINT NOT NULL,
    PRIMARY KEY (org_id, week, device_id, group_id)
);

INSERT INTO play_fleet_weeks (org_id, week, group_id, content_id, playlist_id, plays, ms)
SELECT org_id, (day / 604800000) * 604800000, group_id, content_id, playlist_id,
    CAST(SUM(plays) AS BIGINT), CAST(SUM(ms) AS BIGINT)
FROM play_fleet_days
GROUP BY org_id, (day / 604800000) * 604800000, group_id, content_id, playlist_id;

INSERT INTO play_display_weeks (org_id, week, device_id, group_id, plays, ms)
SELECT org_id, (day / 604800000) * 604800000, device_id, group_id,
    CAST(SUM(plays) AS BIGINT), CAST(SUM(ms) AS BIGINT)
FROM play_display_days
GROUP BY org_id, (day / 604800000) * 604800000, device_id, group_id;

INSERT INTO status_weeks (org_id, week, device_id, group_id, online_ms, idle_ms, offline_ms,
    error_ms)
SELECT org_id, (day / 604800000) * 604800000, device_id, group_id,
    CAST(SUM(online_ms) AS BIGINT), CAST(SUM(idle_ms) AS BIGINT),
    CAST(SUM(offline_ms) AS BIGINT), CAST(SUM(error_ms) AS BIGINT)
FROM status_days
GROUP BY org_id, (day / 604800000) * 604800000, device_id, group_id;
