"""The SDK function code is given: the ``nango`` object, definitions, responses, pagination."""
