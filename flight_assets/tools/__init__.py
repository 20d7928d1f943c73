"""Development tooling, apart from the product (which never imports it): the OpenSky-compatible local server,
the offline demo, and stopping the process groups they start.
"""
