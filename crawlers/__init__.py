"""newsmon's Scrapy project: generic, configuration-driven spiders (see seeds/sources.yaml)."""
