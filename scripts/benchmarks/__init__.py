"""The benchmarks behind `scripts/bench <subcommand>`: one module per subcommand, each with a
``main(argv)``; shared pieces in :mod:`scripts.lib.benchkit` (servers, users) and
:mod:`scripts.lib.services` (databases), and :mod:`scripts.benchmarks.common` for the wrk-driven
HTTP runs. Reports, not tests: nothing here fails a build."""
