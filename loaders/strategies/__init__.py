"""The loading strategies, one module each, and the machine's two ceilings."""
