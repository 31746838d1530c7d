"""Scrapy project: platform profiles, spiders, item pipelines that write listings to the store."""
