"""Plain torch.nn reference modules for the architectures mmm implements, with the parameter
names mmm's modules load (run with Debian's /usr/bin/python3 and its torch)."""
