"""The synthetic FLEX / Fitness-AQA generator: simulates subjects, motion, video, sEMG, physio."""
