"""五步议事 (five-step deliberation): topics, opinions, decisions carried out and publicised."""
