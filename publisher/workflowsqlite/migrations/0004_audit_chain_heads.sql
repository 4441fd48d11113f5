-- Releases published before chain heads were recorded (catalogue migration
-- 0005) get the head their publication entry made: the sequence number and
-- hash of their last "release.published" audit entry, which is exactly what
-- publication records now. A log cut short before this upgrade cannot be
-- detected this way; one cut short after it can.
UPDATE releases
SET audit_head_seq = (SELECT a.seq FROM audit_log a
                      WHERE a.release_id = releases.id AND a.action = 'release.published'
                      ORDER BY a.seq DESC LIMIT 1),
    audit_head_hash = (SELECT a.hash FROM audit_log a
                       WHERE a.release_id = releases.id AND a.action = 'release.published'
                       ORDER BY a.seq DESC LIMIT 1)
WHERE audit_head_seq = 0
  AND state IN ('published', 'superseded', 'withdrawn')
  AND EXISTS (SELECT 1 FROM audit_log a WHERE a.release_id = releases.id AND a.action = 'release.published');
