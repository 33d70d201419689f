"""The central hub: receives what sites send (MQTT and HTTP), keeps the fleet store, serves
sites, assets and alerts across sites."""
