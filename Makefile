# Shorthands for dev.py, which is what the README documents; make is optional.
.PHONY: up test bench

up:
	python3 dev.py up

test:
	python3 dev.py test

bench:
	python3 dev.py bench
