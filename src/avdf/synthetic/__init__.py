"""The synthetic generator: talking portraits, speech and their manipulations, written in
FakeAVCeleb's and LAV-DF's formats (the embedded stand-ins)."""
