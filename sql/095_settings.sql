-- 095_settings.sql — settings of the database the schema is applied to.
-- Idempotent.
--
-- JIT off.  The queries hbmon's readers ask (views, hb_report_*, the Grafana
-- panels) read a few thousand rows through the rollups, but their cost
-- estimates pass jit_above_cost: compiling them took 1.2 s where running
-- them takes 30 ms (measured at 10,000 customers).  New sessions of this
-- database get jit = off; a role or session that wants JIT sets it back.
-- Applying the schema as a role that does not own the database skips this,
-- with a notice.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'jit is left as it is: only the owner of database % may set it (ALTER DATABASE % SET jit = off)',
        current_database(), current_database();
END
$$;
