# Two commands do everything on a fresh machine:
#   make bench   install into .venv, prepare what can be prepared offline, run the default benchmark
#   make test    install into .venv if needed, run the test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install report-tools bench test test-slow lint format clean replicate retrain revalidate-history ship leaderboard settle speed

# torch and torchaudio are pinned as a matched pair in the same pip call as everything else, so no other
# requirement can drag torch to another release. Exact versions: torchaudio 2.11.1 (a later upload) satisfies
# "2.11.*" but its libtorchaudio.so does not load against torch 2.11.0.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.11.0" "torchaudio==2.11.0" -e ".[dev,codecs,train]"
	touch $(STAMP)

install: $(STAMP)

# What the report's tests open its output with, from Debian: headless Chromium and its driver
# (tests/core/test_report_html.py) and a LaTeX engine with booktabs (tests/core/test_paper_tables.py). Installed
# only as root with apt-get; otherwise those tests are skipped and say why.
report-tools:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null && command -v pdflatex >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver texlive-latex-base texlive-latex-recommended; } \
		|| echo "chromium or LaTeX could not be installed: the report's browser and LaTeX tests will be skipped"; \
	else echo "not root with apt-get: the report's browser and LaTeX tests will be skipped"; fi

install test: report-tools

# Real speech that installs from Debian (as root: apt-get; otherwise it prints the command and bench goes on
# without those suites, saying so).
bench: $(STAMP)
	-$(PY) -m hybridbench.cli data prepare asterisk-en asterisk-fr librivox-mini
	$(PY) -m hybridbench.cli run --preset mini-replication

# The offline replication (issue 7): train the four mini variants in lockstep (resumable: run it again to go on;
# STEPS extends the runs), copy them into the package as fp16, and regenerate leaderboards/mini-replication.md.
# On a machine with no run folder yet, training warm-starts from the shipped checkpoints at their step, under
# their recipe (the processed Whisper target with MSE: hybridcodec/README.md).
# The shipped recipe anneals the learning rate to 0 from step 17,000 to 18,500 (ANNEAL_START=17000
# ANNEAL_STEPS=1500, recorded in the checkpoints and kept by later runs), so 18,500 is as far as it goes unless
# REWARM=1 with a later anneal trains on past it (minireplication/README.md).
STEPS ?= 18500
replicate: $(STAMP)
	-$(PY) -m hybridbench.cli data prepare asterisk-en asterisk-fr librivox-mini
	$(PY) -m minireplication.cli replicate --out runs/mini-replication --steps $(STEPS) \
		--init-from minireplication/checkpoints/mini \
		$(if $(ANNEAL_START),--anneal-start $(ANNEAL_START) --anneal-steps $(ANNEAL_STEPS),) \
		$(if $(REWARM),--rewarm,)

# The shipped minis trained again from scratch, under their recipe and schedule (anneal from 17,000 to 18,500):
# about 10 hours on 2 CPU cores, minutes on a GPU (`--device cuda` in minireplication/README.md). Resumable; to
# carry it across machines, ship its intermediate checkpoints (`minireplication ship --from runs/replication-v2
# --to DIR`) and add `--init-from DIR` to go on from them.
RETRAIN_STEPS ?= 18500
retrain: $(STAMP)
	-$(PY) -m hybridbench.cli data prepare asterisk-en asterisk-fr librivox-mini
	$(PY) -m minireplication.cli replicate --out runs/replication-v2 --steps $(RETRAIN_STEPS) \
		--anneal-start 17000 --anneal-steps 1500

# Held-out losses of the retrain's steps shipped before the held-out log travelled with the checkpoints: every
# intermediate version of the shipped minis' retrain in git history (minireplication/checkpoints/replication-v2,
# until it became checkpoints/mini), scored again on this machine's validation split (steps whose training log is
# in the run are left out); the learning curves draw them hollow.
revalidate-history: $(STAMP)
	rm -rf runs/shipped-history
	for c in $$(git log --diff-filter=AM --format=%h -- minireplication/checkpoints/replication-v2/hybrid.safetensors); do \
		mkdir -p runs/shipped-history/$$c && git archive $$c minireplication/checkpoints/replication-v2 \
			| tar -x -C runs/shipped-history/$$c --strip-components=3; done
	$(PY) -m minireplication.cli revalidate runs/shipped-history/* --out runs/replication-v2 --threads 2

# The distillation experiment (issue 20): arms warm-started from the shipped dac mini, each distilling another
# target (or none), read on held-out speech; writes leaderboards/distillation-experiment.md. Resumable.
settle: $(STAMP)
	-$(PY) -m hybridbench.cli data prepare asterisk-en asterisk-fr librivox-mini
	$(PY) -m minireplication.cli settle --out runs/settle

ship: $(STAMP)
	$(PY) -m minireplication.cli ship --from runs/mini-replication

leaderboard: $(STAMP)
	$(PY) -m minireplication.cli leaderboard $(if $(LIMIT),--limit '$(LIMIT)',) $(if $(METRICS),--metrics '$(METRICS)',)

# leaderboards/speed.md: HybridCodec, DualCodec (with w2v-BERT 2.0) and DAC at paper size, offline and streaming,
# on this machine. Run it with nothing else on the machine (benchmarks/speed_board.py).
speed: $(STAMP)
	$(PY) benchmarks/speed_board.py --out leaderboards/speed.md

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

lint: $(STAMP)
	$(VENV)/bin/ruff check hybridbench hybridcodec minireplication tests benchmarks
	$(VENV)/bin/ruff format --check hybridbench hybridcodec minireplication tests benchmarks
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format hybridbench hybridcodec minireplication tests benchmarks
	$(VENV)/bin/ruff check --fix hybridbench hybridcodec minireplication tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
