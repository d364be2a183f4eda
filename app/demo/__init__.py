"""The demo county, modelled on the Yihuang report (names of people are invented)."""
