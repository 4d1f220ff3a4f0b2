"""Creates a HubSpot contact; an email that exists already is a descriptive ActionError."""

from nango import ActionError, HttpError, create_action

from .models import CreatedContact, NewContact


def run(nango, input):
    properties = {"email": input.email, "firstname": input.first_name, "lastname": input.last_name}
    try:
        response = nango.post(endpoint="/crm/v3/objects/contacts", data={"properties": properties})
    except HttpError as error:
        if error.status == 409:
            raise ActionError({"reason": "contact_exists", "email": input.email}) from None
        raise
    return CreatedContact(id=str(response.data["id"]), email=response.data["properties"]["email"])


action = create_action(
    description="Create a contact in HubSpot",
    version="1.0.0",
    input=NewContact,
    output=CreatedContact,
    exec=run,
)
