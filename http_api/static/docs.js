SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});
